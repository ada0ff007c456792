from courierd.storage.report_spool import SPOOL_FILE, ReportSpool


def _result(dispatch_id: int, outcome: str = "transmitted") -> dict:
    return {
        "id": dispatch_id,
        "custom_id": f"cid{dispatch_id}",
        "outcome": outcome,
        "time": "2026-11-27T08:15:02Z",
        "recipients": [{"email": "a@x.example", "message_id": "1152921504606846976"}],
    }


def test_results_survive_reopening(tmp_path):
    spool = ReportSpool(tmp_path)
    keys = spool.add([_result(1), _result(2, "retry")])
    spool.remove(keys[:1])
    spool.close()

    reopened = ReportSpool(tmp_path)
    assert reopened.depth() == 1
    ((key, result),) = reopened.pending()
    assert key == keys[1]
    assert result == _result(2, "retry")
    reopened.close()
    assert (tmp_path / SPOOL_FILE).exists()


def test_pending_keeps_insertion_order_and_limit(tmp_path):
    spool = ReportSpool(tmp_path)
    spool.add([_result(i) for i in range(5)])
    spool.add([_result(9)])
    assert [r["id"] for _, r in spool.pending()] == [0, 1, 2, 3, 4, 9]
    assert [r["id"] for _, r in spool.pending(limit=2)] == [0, 1]
    spool.close()


def test_state_dir_is_created_and_wal_is_on(tmp_path):
    spool = ReportSpool(tmp_path / "state" / "courierd")
    (mode,) = spool._db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    spool.close()
