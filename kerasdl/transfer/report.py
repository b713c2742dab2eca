"""The report of a transfer experiment: test accuracy per labels count and
mode, as a markdown table and a plot."""

from pathlib import Path

from kerasdl.plots import accuracy_by_labels


def results_table(results, modes):
    """A markdown table of test accuracies: one row per labels-per-class
    count, one column per mode."""
    rows = {}
    for r in results:
        rows.setdefault(r["labels_per_class"], {})[r["mode"]] = r["test_accuracy"]
    lines = ["| labels per class | " + " | ".join(modes) + " |",
             "|---|" + "---:|" * len(modes)]
    for labels, accuracy in rows.items():
        cells = [f"{100 * accuracy[m]:.2f}%" if m in accuracy else "" for m in modes]
        lines.append(f"| {labels} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_report(results, modes, num_classes, output_dir, title):
    """Writes `transfer.md` (the table) and `transfer.png` (test accuracy
    against labels per class, one line per mode) into `output_dir`."""
    output_dir = Path(output_dir)
    (output_dir / "transfer.md").write_text(f"{title}\n\n{results_table(results, modes)}")
    accuracy_by_labels(results, modes, output_dir / "transfer.png", num_classes, title)
