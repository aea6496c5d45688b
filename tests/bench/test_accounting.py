"""What the benchmark derives from raw output: import-time buckets, artifact sizes, the bill."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from bench import cost, sizes
from bench.lambda_runs import FIRST_INVOCATION_MARK, INIT_MARK, import_self_times, top_level_names

IMPORTTIME = f"""\
import time: self [us] | cumulative | imported package
import time:       500 |        500 | json
{INIT_MARK}
import time:      2000 |       2000 |   pydantic_core
import time:      3000 |       5000 | pydantic
import time:      1000 |       1000 |   email.parser
import time:       700 |       1700 | fastapi.routing
{FIRST_INVOCATION_MARK}
import time:      4000 |       4000 | boto3
"""


def test_importtime_is_bucketed_by_package_and_phase_after_the_init_mark() -> None:
    phases = import_self_times(IMPORTTIME, {"pydantic", "pydantic_core", "fastapi", "boto3"})

    # json was imported by the runner itself, before the clock started: not counted.
    assert phases["init"] == {"pydantic_core": 2.0, "pydantic": 3.0, "(stdlib)": 1.0, "fastapi": 0.7}
    assert phases["first_invoke"] == {"boto3": 4.0}


def test_top_level_names_are_packages_and_modules_not_metadata(tmp_path: Path) -> None:
    (tmp_path / "fastapi").mkdir()
    (tmp_path / "fastapi-1.0.dist-info").mkdir()
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "six.py").write_text("")
    (tmp_path / "_cffi.cpython-313-x86_64-linux-gnu.so").write_bytes(b"")

    assert top_level_names([tmp_path]) == {"fastapi", "six", "_cffi"}


@pytest.fixture
def artifact(tmp_path: Path) -> Path:
    for name in ("a", "b"):
        (tmp_path / "pkg" / "__pycache__").mkdir(parents=True, exist_ok=True)
        (tmp_path / "pkg" / f"{name}.py").write_text("x = 1\n" * 100)
        (tmp_path / "pkg" / "__pycache__" / f"{name}.cpython-313.pyc").write_bytes(b"\0" * 300)
    (tmp_path / "top.py").write_text("y = 2\n")
    return tmp_path


def test_sizes_count_every_file_and_zip_them_under_the_prefix(artifact: Path) -> None:
    fig = sizes.measure(artifact, prefix="python")

    assert fig["files"] == 5
    assert fig["unzipped_bytes"] == 2 * 600 + 2 * 300 + 6
    assert set(fig["zipped_by_package"]) == {"pkg", "top.py"}


def test_sizes_without_bytecode_or_with_bytecode_for_chosen_sources(artifact: Path) -> None:
    assert sizes.measure(artifact, bytecode=False)["files"] == 3
    assert sizes.measure(artifact, bytecode={"pkg/a.py"})["files"] == 4


def test_zip_holds_the_files_under_the_prefix(artifact: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    names: list[str] = []
    original = zipfile.ZipFile.write

    def record(self: zipfile.ZipFile, filename: object, arcname: object = None, *args: object, **kw: object) -> None:
        names.append(str(arcname))
        original(self, filename, arcname, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(zipfile.ZipFile, "write", record)
    sizes.measure(artifact, prefix="python", bytecode=False)

    assert sorted(names) == ["python/pkg/a.py", "python/pkg/b.py", "python/top.py"]


def test_lambda_bills_each_invocation_rounded_up_to_the_millisecond() -> None:
    assert cost.billed_ms([0.2, 1.0, 1.01, 9.5]) == (1 + 1 + 2 + 10) / 4


def assert_the_dynamodb_lines_of_an_idempotent_run_with_its_ledger_items(by_item: dict[str, cost.Line]) -> None:
    """The writes and storage of the delivery below: a 600 B task item and a 1,500 B run item."""
    # The idempotency record: put (in the start transaction), then update (in the end transaction), each doubled.
    assert by_item["DynamoDB writes (idempotency record)"].usd == pytest.approx(4 * 0.625)
    # The two transactions: the run item (1.5 KB: 2 units) twice, the task item (1 KB: 1 unit) checked then
    # written, the request's pointer (1 unit) once, each doubled: 2 x (4 + 2 + 1) = 14.
    ledger = by_item["DynamoDB writes (task ledger: in the start and end transactions)"]
    assert ledger.usd == pytest.approx(14 * 0.625)
    # ByUser, ByState (twice: the task moves partition), ByOwner, and out of LiveByOwner.
    assert by_item["DynamoDB writes (task ledger indexes)"].usd == pytest.approx(5 * 0.625)
    # (4 x (600 + 100) + 1500 + 100) B = 4.4 GB for a million tasks, a week of 30-day months at $0.25.
    assert by_item["DynamoDB storage (task ledger, 7 days)"].usd == pytest.approx(4.4 * 7 / 30 * 0.25)


def test_delivery_bill_shows_its_arithmetic() -> None:
    lines = cost.delivery_lines(
        duration_ms=10,
        init_ms=500,
        log_bytes=1000,
        memory_mb=512,
        idempotent=True,
        ledger_bytes={"TASK": 600, "RUN#": 1500},
    )
    by_item = {line.item: line for line in lines}
    by_kind = {line.item.split(" (")[0]: line for line in lines if not line.item.startswith("DynamoDB")}

    # 1e6 x 0.5 GB x 0.010 s = 5,000 GB-s
    assert by_kind["Lambda duration"].usd == pytest.approx(5000 * 0.0000133334)
    assert "5,000.0 GB-s" in by_kind["Lambda duration"].arithmetic
    # 1% cold: 10,000 x 0.5 GB x 0.5 s = 2,500 GB-s
    assert by_kind["Lambda INIT"].usd == pytest.approx(2500 * 0.0000133334)
    assert_the_dynamodb_lines_of_an_idempotent_run_with_its_ledger_items(by_item)
    assert by_kind["CloudWatch Logs"].usd == pytest.approx(1.0 * 0.50)
    assert cost.total(lines) == pytest.approx(sum(line.usd for line in lines))


def test_the_guides_bill_has_no_storage_writes() -> None:
    lines = cost.delivery_lines(duration_ms=1, init_ms=1, log_bytes=0, memory_mb=512, idempotent=False)

    assert not any(line.item.startswith("DynamoDB") for line in lines)


def test_a_create_pays_for_its_task_item_and_index_entries() -> None:
    lines = cost.create_lines(duration_ms=5, log_bytes=500, memory_mb=512, task_bytes=1100)
    (ledger,) = [line for line in lines if line.item.startswith("DynamoDB writes (task ledger")]

    # One conditional PutItem of 1,100 B (2 units) and an entry in each of the four indexes.
    assert ledger.usd == pytest.approx(6 * 0.625)
    assert "1 conditional PutItem of 1,100 B: 2 WRU" in ledger.quantity
