"""kerasdl.transfer.report: the accuracy table and plot."""

from kerasdl import transfer

RESULTS = [
    {"labels_per_class": 10, "examples": 50, "mode": "scratch", "test_accuracy": 0.5},
    {"labels_per_class": 10, "examples": 50, "mode": "finetune", "test_accuracy": 0.875},
    {"labels_per_class": "all", "examples": 900, "mode": "scratch", "test_accuracy": 0.99},
]


def test_table_has_a_row_per_labels_count_and_a_column_per_mode():
    table = transfer.results_table(RESULTS, ("scratch", "frozen", "finetune"))
    assert table.splitlines() == [
        "| labels per class | scratch | frozen | finetune |",
        "|---|---:|---:|---:|",
        "| 10 | 50.00% |  | 87.50% |",
        "| all | 99.00% |  |  |",
    ]


def test_report_writes_the_table_under_its_title_and_the_plot(tmp_path):
    transfer.write_report(RESULTS, ("scratch", "finetune"), 5, tmp_path, "base -> target")
    text = (tmp_path / "transfer.md").read_text()
    assert text.startswith("base -> target\n\n| labels per class | scratch | finetune |")
    assert (tmp_path / "transfer.png").read_bytes().startswith(b"\x89PNG")
