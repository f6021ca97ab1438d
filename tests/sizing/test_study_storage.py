"""Workers sharing one SQLite optuna study with queued trials: each queued trial is claimed
by exactly one worker (SQLite has no SELECT ... FOR UPDATE; see sizing/study_storage.py)."""

import json
import subprocess
import sys
from pathlib import Path

WORKER = """
import json, sys, time
import optuna
from edgeplan.sizing.study_storage import open_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="s", storage=open_storage(sys.argv[1]))
ran = []
def objective(trial):
    ran.append(trial.number)
    time.sleep(0.01)
    return trial.suggest_int("x", 0, 1000)
study.optimize(objective, n_trials=int(sys.argv[2]))  # raises on a trial told twice
print(json.dumps(ran))
"""


def test_queued_trials_are_claimed_once_by_concurrent_workers(tmp_path: Path) -> None:
    import optuna

    from edgeplan.sizing.study_storage import open_storage

    url = f"sqlite:///{tmp_path / 'study.sqlite'}"
    study = optuna.create_study(study_name="s", storage=open_storage(url))
    queued = 40
    for x in range(queued):
        study.enqueue_trial({"x": x})
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, "15"], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0] * 4, outs
    ran = [n for out in outs for n in json.loads(out)]
    assert len(ran) == 60 and len(set(ran)) == 60  # nothing run twice
    done = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    assert sorted(t.params["x"] for t in done if t.number < queued) == list(range(queued))


def test_other_urls_pass_through() -> None:
    from edgeplan.sizing.study_storage import open_storage

    assert open_storage("postgresql://farm/db") == "postgresql://farm/db"
