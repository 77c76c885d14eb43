"""state.json: replaced atomically, every change in it within SAVE_INTERVAL, bursts written together."""

import json
import os
import time

from okms_emulator.store import Store


def on_disk(store):
    with open(store.path, encoding="utf-8") as handle:
        return json.load(handle)


def test_without_an_interval_every_save_writes(tmp_path):
    store = Store(str(tmp_path))
    store.data["okms"]["a"] = {"n": 1}
    store.save()
    assert on_disk(store)["okms"] == {"a": {"n": 1}}


def test_a_burst_of_changes_is_written_at_once_then_together(tmp_path, monkeypatch):
    store = Store(str(tmp_path), save_interval=0.3)
    writes = []
    real_write = store._write
    monkeypatch.setattr(store, "_write", lambda: writes.append(time.monotonic()) or real_write())
    for n in range(200):
        with store.lock:
            store.data["okms"]["k%d" % n] = {"n": n}
            store.save()
    # The first change after a quiet moment is written at once; the other 199 wait for one write.
    assert len(writes) == 1 and len(on_disk(store)["okms"]) == 1
    deadline = time.monotonic() + 3
    while len(on_disk(store)["okms"]) < 200 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(on_disk(store)["okms"]) == 200
    assert len(writes) == 2
    assert [name for name in os.listdir(str(tmp_path)) if name != "state.json"] == []  # no temporary file left


def test_close_writes_what_is_pending(tmp_path):
    store = Store(str(tmp_path), save_interval=60)
    store.data["okms"]["first"] = {}
    store.save()
    store.data["okms"]["second"] = {}
    store.save()
    assert set(on_disk(store)["okms"]) == {"first"}
    store.close()
    assert set(on_disk(store)["okms"]) == {"first", "second"}
    assert Store(str(tmp_path)).data["okms"] == {"first": {}, "second": {}}
