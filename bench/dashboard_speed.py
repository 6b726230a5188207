"""Training with the dashboard open against headless, and how fast keys are handled meanwhile.

1. Training overhead. The same command trains the same config, alternately headless
   (``mnist-tui --no-ui``, its lines to /dev/null) and with the dashboard open in a real terminal
   (the same ``mnist-tui`` in tmux at 120x40, quit with ``q`` once finished). Each run is a fresh
   process; the engine's own training seconds (``train_seconds`` in the run folder's
   summary.json, the sum of EpochEnded.seconds: training only, no loading, no evaluation) are
   compared. For the dashboard runs, the CPU seconds of the UI thread, of the app's other threads
   (the engine, torch's pool, Textual's input and output) and of the tmux server are counted from
   the first loss report on the screen to the finished state.
2. Keys, in the process. The dashboard, wired as ``run_dashboard`` wires it (the real engine
   source), runs in tmux with a thread that does what Textual's input thread does with a parsed
   key (``driver.process_message(Key)``) while the engine trains: ``?`` opens the help screen and,
   ``--hold`` seconds later, ``escape`` closes it. A key counts as handled when its action has
   switched the screen (``screen_change_signal``). Also timed: a callback posted to the UI's event
   loop from another thread (how long the loop is busy).
3. Keys, through the terminal. The real command in tmux; ``p`` (pause, resume) and ``?`` (help
   open, closed) are sent with ``tmux send-keys`` and timed until their effect is on the screen.

    .venv/bin/python bench/dashboard_speed.py                     # 5 repeats, 2 runs with keys each way
    .venv/bin/python bench/dashboard_speed.py --repeats 3 --key-runs 0 --dashboard-command ".venv/bin/python my_variant.py"
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from machine_info import cpu_model  # bench/, on sys.path when a script here runs

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA_DIR = REPO.parent / "shared" / "data"
COMMAND = Path(sys.executable).with_name("mnist-tui")
WIDTH, HEIGHT = 120, 40
HELP_TEXT = "pause or resume the run"
"""A line of the help screen's key table."""
EXITED = re.compile(r"^EXIT:\d+", re.MULTILINE)
RUN_BAR = re.compile(r"\brun +[━╸╺]+ +(\d+)%")
"""The progress pane's bar for the whole run, and its percentage."""
"""The shell's line once the command has ended (the typed command line holds ``EXIT:$?``)."""


# --- the machine ---------------------------------------------------------------------------


def machine(threads: int | None) -> str:
    """CPU model, cores, load, torch version and the threads a run gets, as one line."""
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    probe = (
        "import torch; from mnist_tui.engine.threads import ThreadChoice; "
        "print(torch.__version__, torch.get_num_threads(), '-or-'.join(map(str, ThreadChoice.for_run(True).counts)))"
    )
    version, intra, training = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    model = cpu_model()
    import textual

    return (
        f"{model}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; Python "
        f"{platform.python_version()}, torch {version} ({intra} intra-op threads; training steps on {training.replace('-', ' ')}, whichever is faster), "
        f"textual {textual.__version__}"
    )


# --- one run of each kind ------------------------------------------------------------------


class Tmux:
    """A tmux server of its own with one 120x40 window running a shell."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.name = f"mnist-tui-bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.env = env
        shell = shutil.which("bash")
        argv = [shell, "--norc", "--noprofile"] if shell else ["sh"]
        self("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "-c", str(cwd), shlex.join(argv))
        self.socket = Path(self("display-message", "-p", "#{socket_path}").strip())

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-u", "-f", os.devnull, "-L", self.name, *args],
            env=self.env, capture_output=True, text=True, check=True,
        )
        return done.stdout

    def run(self, argv: list[str], timeout: float, finished: str | None) -> str:
        """Type ``argv`` into the shell; press q once ``finished`` is on screen; return the last screen."""
        self("send-keys", "-l", f"{shlex.join(argv)}; echo EXIT:$?")
        self("send-keys", "Enter")
        deadline = time.monotonic() + timeout
        quit_sent = False
        while time.monotonic() < deadline:
            screen = self("capture-pane", "-p")
            if EXITED.search(screen):
                return screen
            if finished and not quit_sent and finished in screen:
                self("send-keys", "q")
                quit_sent = True
            time.sleep(0.25)
        raise SystemExit(f"timed out after {timeout:.0f} s; the screen:\n{self('capture-pane', '-p')}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], env=self.env, capture_output=True, check=False)
        self.socket.unlink(missing_ok=True)  # a killed server leaves its socket behind


def environment(threads: int | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE", "MNIST_TUI_DATA", "COLUMNS")}
    env.setdefault("LANG", "C.UTF-8")
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    return env


def run_args(args: argparse.Namespace, runs: Path) -> list[str]:
    return [
        "--preset", args.preset, "--epochs", str(args.epochs), "--device", "cpu",
        "--data-dir", str(args.data_dir), "--runs-dir", str(runs),
    ]


def train_seconds(runs: Path) -> float:
    (folder,) = [p for p in runs.iterdir() if p.is_dir()]
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    if summary["status"] != "finished":
        raise SystemExit(f"run {folder} ended {summary['status']}: {summary.get('error')}")
    return float(summary["train_seconds"])


def headless(args: argparse.Namespace, work: Path) -> float:
    runs = work / f"headless-{uuid.uuid4().hex[:6]}"
    done = subprocess.run(
        [str(COMMAND), "--no-ui", *run_args(args, runs)],
        env=environment(args.threads), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, check=False,
    )
    if done.returncode:
        raise SystemExit(f"headless run failed ({done.returncode}):\n{done.stderr}")
    return train_seconds(runs)


def cpu_seconds(pid: int) -> dict[int, float]:
    """CPU seconds (user + system) of each thread of ``pid``, by thread id."""
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[int(task.name)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def child_of(parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == parent:
                    return int(entry.name)
            except OSError:
                continue
    return None


def dashboard(args: argparse.Namespace, work: Path) -> dict[str, float]:
    """The real command in tmux; also the CPU its UI thread, its other threads and tmux used meanwhile.

    CPU is counted while the run trains: from the first loss report on the screen to the last
    screen on which the run's bar was still short of 100 %, so it takes in every epoch's end but
    the last (its evaluation, inspection, gallery and table row) and leaves out the run's own end
    (unlocking the form). The main thread is the UI; the others are the engine, torch's intra-op
    pool and Textual's input and output threads; the tmux server stands for the terminal drawing it.
    """
    runs = work / f"dashboard-{uuid.uuid4().hex[:6]}"
    tmux = Tmux(environment(args.threads), work)
    try:
        tmux("send-keys", "-l", f"{shlex.join([*args.dashboard_command, *run_args(args, runs)])}; echo EXIT:$?")
        tmux("send-keys", "Enter")
        server = int(tmux("display-message", "-p", "#{pid}"))
        shell = int(tmux("display-message", "-p", "#{pane_pid}"))
        deadline = time.monotonic() + args.timeout
        first: tuple[float, dict[int, float], float] | None = None
        last: tuple[float, dict[int, float], float] | None = None
        app = None
        visited = False
        while time.monotonic() < deadline:
            sample = (time.monotonic(), cpu_seconds(app) if app else {}, sum(cpu_seconds(server).values()))
            screen = tmux("capture-pane", "-p")
            app = app or child_of(shell)
            bar = RUN_BAR.search(screen)
            if first is None and app and re.search(r"step [1-9]", screen):
                if args.visit_views and not visited:
                    visit_views(tmux)
                    visited = True
                    continue  # counted from the next look, back in Train
                first = (time.monotonic(), cpu_seconds(app), sum(cpu_seconds(server).values()))
            elif first is not None and bar and int(bar.group(1)) < 100:
                last = sample  # taken before this screen: the bar was short of 100 % then
            if "● finished" in screen or EXITED.search(screen):
                break
            time.sleep(args.poll)
        else:
            raise SystemExit(f"timed out; the screen:\n{screen}")
        if first is None or last is None or app is None:
            raise SystemExit(f"no training seen; the screen:\n{screen}")
        wall = last[0] - first[0]
        threads, tmux_cpu = last[1], last[2] - first[2]
        ui = threads.get(app, 0.0) - first[1].get(app, 0.0)
        others = sum(threads.values()) - sum(first[1].values()) - ui
        tmux("send-keys", "q")
        while time.monotonic() < deadline and not EXITED.search(tmux("capture-pane", "-p")):
            time.sleep(0.1)
        screen = tmux("capture-pane", "-p")
    finally:
        tmux.close()
    if "EXIT:0" not in screen:
        raise SystemExit(f"dashboard run did not exit 0; the screen:\n{screen}")
    return {"train_seconds": train_seconds(runs), "wall": wall, "ui": ui, "others": others, "tmux": tmux_cpu}


VIEW_KEYS = ("2", "3", "4", "5", "1")
"""Inspect, Draw, Runs, Sweep, then back to Train: each view mounted and shown once."""


VIEWS_SETTLE = 3.0
"""Seconds between Train's return and the count: showing each view the first time composes it
(tens of milliseconds each), a one-off cost that is not the hidden views' keep."""


def visit_views(tmux: Tmux) -> None:
    """Show every view once during training, then Train again (``--visit-views``): the views
    stay mounted, hidden, for the rest of the run, and the UI's share is counted from
    ``VIEWS_SETTLE`` seconds later (use ``--epochs 4`` or more, so that it counts whole epochs)."""
    for key in VIEW_KEYS:
        tmux("send-keys", key)
        time.sleep(0.4)
    for _ in range(50):  # Train's progress pane is on screen again
        if RUN_BAR.search(tmux("capture-pane", "-p")):
            time.sleep(VIEWS_SETTLE)
            return
        time.sleep(0.1)
    raise SystemExit(f"Train did not come back after the views; the screen:\n{tmux('capture-pane', '-p')}")


def keys(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """The dashboard in tmux with keys injected during training (see ``keys_child``)."""
    runs = work / f"keys-{uuid.uuid4().hex[:6]}"
    out = work / f"keys-{uuid.uuid4().hex[:6]}.json"
    child = [
        sys.executable, str(Path(__file__).resolve()), "--child-keys", str(out), str(args.presses), str(args.hold),
        *run_args(args, runs),
    ]
    tmux = Tmux(environment(args.threads), work)
    try:
        tmux.run(child, timeout=args.timeout, finished=None)
    finally:
        tmux.close()
    result = json.loads(out.read_text(encoding="utf-8"))
    if result["errors"]:
        raise SystemExit(f"the key thread failed: {result['errors']}")
    result["train_seconds"] = train_seconds(runs)
    return result


def visible_keys(args: argparse.Namespace, work: Path) -> dict[str, object]:
    """The real command in tmux; keys sent through the terminal until their effect reaches it.

    A tmux control-mode client (:class:`ControlClient`) sends each key and receives the pane's
    output as tmux passes it on to its terminals: measured from the key to the first output whose
    text (escape sequences left out) shows the change: the key's whole way through the pty,
    Textual's input thread, the action, a frame and tmux. No process is started per key or per
    look (polling ``capture-pane`` every 10 ms started 100 tmux clients a second, and on 2 cores
    they competed with what they measured). ``p`` pauses and resumes (the status bar), ``?``
    opens the help and closes it again (escape would add Textual's escape-sequence delay). The
    engine waits while paused, so this run's training seconds are not comparable. A key pressed
    after the run ended (its last epoch can end mid-round) is not counted.
    """
    runs = work / f"visible-{uuid.uuid4().hex[:6]}"
    tmux = Tmux(environment(args.threads), work)
    shown: dict[str, list[float]] = {name: [] for name, _, _, _ in VISIBLE_KEYS}
    misses = 0

    def until(check: object, timeout: float = 5.0) -> float | None:
        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if check(tmux("capture-pane", "-p")):  # type: ignore[operator]
                return time.perf_counter() - started
            time.sleep(0.05)
        return None

    try:
        tmux("send-keys", "-l", f"{shlex.join([*args.dashboard_command, *run_args(args, runs)])}; echo EXIT:$?")
        tmux("send-keys", "Enter")
        if until(lambda s: re.search(r"step [1-9]", s), args.timeout) is None:
            raise SystemExit(f"no training on screen; the screen:\n{tmux('capture-pane', '-p')}")
        time.sleep(1.0)
        with ControlClient(tmux) as control:
            for _ in range(args.presses):
                if "● running" not in tmux("capture-pane", "-p"):
                    break
                for name, key, marker, pause in VISIBLE_KEYS:
                    seconds = control.press(key, marker)
                    if seconds is not None:
                        shown[name].append(seconds)
                    elif "● running" in tmux("capture-pane", "-p") or "● paused" in tmux("capture-pane", "-p"):
                        misses += 1  # the run is still on: the key's effect never came
                    else:
                        break
                    time.sleep(args.hold if pause is None else pause)
        if until(lambda s: "● finished" in s, args.timeout) is None:
            raise SystemExit("the keys run did not finish")
        tmux("send-keys", "q")
        if until(EXITED.search, 30) is None:
            raise SystemExit("the keys run did not quit")
    finally:
        tmux.close()
    return {"shown": shown, "misses": misses}


class ControlClient:
    """A tmux control-mode client (``tmux -C attach``) of :class:`Tmux`'s session: it sends keys
    and timestamps the pane's output as it arrives."""

    ESCAPES = re.compile(r"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78DEHM])")

    def __init__(self, tmux: Tmux) -> None:
        self.process = subprocess.Popen(
            ["tmux", "-u", "-f", os.devnull, "-L", tmux.name, "-C", "attach"],
            env=tmux.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0,
        )
        self.text = ""  # the pane's output since the last key, its escape sequences left out
        self.lock = threading.Condition()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def __enter__(self) -> "ControlClient":
        return self

    def __exit__(self, *_: object) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.close()  # the client detaches; the session goes on
        except OSError:
            pass
        self.process.wait(timeout=10)

    def press(self, key: str, marker: str, timeout: float = 5.0) -> float | None:
        """Seconds from sending ``key`` until output containing ``marker`` arrived; None after ``timeout``."""
        assert self.process.stdin is not None
        with self.lock:
            self.text = ""
            started = time.perf_counter()
            self.process.stdin.write(f"send-keys {shlex.quote(key)}\n".encode())
            while marker not in self.text:
                left = timeout - (time.perf_counter() - started)
                if left <= 0 or not self.lock.wait(left):
                    return None
            return time.perf_counter() - started

    def _read(self) -> None:
        assert self.process.stdout is not None
        for raw in self.process.stdout:
            line = raw.decode("utf-8", "replace")
            if not line.startswith("%output "):
                continue
            data = line.split(" ", 2)[2].rstrip("\n")
            # tmux escapes bytes below 32 and the backslash as three octal digits.
            data = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), data)
            with self.lock:
                self.text += self.ESCAPES.sub("", data)
                self.lock.notify_all()


VISIBLE_KEYS = (
    ("p pauses (status bar)", "p", " paused", 0.2),
    ("p resumes (status bar)", "p", " running", 0.3),
    ("? opens the help", "?", HELP_TEXT, None),
    ("? closes the help", "?", "Loss against epochs", 0.3),
)
"""Name, key, the text of the change in the output once it took effect, and the pause after it
(None: ``--hold``)."""


# --- the keypress child (runs inside tmux; stderr is the screen, results go to a file) -----


def keys_child(out: Path, presses: int, hold: float, argv: list[str]) -> int:
    """Inside tmux: the dashboard as ``run_dashboard`` wires it, with keys from a thread; results to ``out``."""
    from textual import events

    from mnist_tui.command import build_parser, resolve
    from mnist_tui.tui.app import MnistApp
    from mnist_tui.tui.source import engine_source

    options = resolve(build_parser().parse_args(argv))
    source = engine_source(data_dir=options.data_dir, runs_dir=options.runs_dir)
    app = MnistApp(options.config, source=source, preset=options.preset, autostart=True)
    latencies: dict[str, list[float]] = {"?": [], "escape": [], "loop": []}
    misses: list[str] = []
    errors: list[str] = []
    changed = threading.Event()
    stamp: list[float] = []

    def on_screen_change(screen: object) -> None:
        stamp.append(time.perf_counter())
        changed.set()

    def press(key: str, character: str | None) -> float | None:
        changed.clear()
        stamp.clear()
        started = time.perf_counter()
        driver = app._driver  # private: the same call Textual's input thread makes with a parsed key
        assert driver is not None
        driver.process_message(events.Key(key, character))
        if not changed.wait(5):
            return None
        return stamp[0] - started

    def loop_lag() -> float:
        """How long a callback posted from another thread waits for the UI's event loop."""
        started = time.perf_counter()
        return app.call_from_thread(lambda: time.perf_counter()) - started

    def inject() -> None:
        try:
            press_during_training()
        except Exception as error:  # noqa: BLE001 (reported in the results; the app must still quit)
            errors.append(f"{type(error).__name__}: {error}")
        while app.state in ("idle", "starting", "running"):
            time.sleep(0.1)
        app.call_from_thread(app.exit)  # the run has ended: quit as q would

    def press_during_training() -> None:
        while app.state in ("idle", "starting"):
            time.sleep(0.05)
        app.call_from_thread(app.screen_change_signal.subscribe, app, on_screen_change, True)
        time.sleep(1.0)  # into the epoch: reports arriving, the chart redrawing
        for _ in range(presses):
            if app.state != "running":
                break
            for _ in range(3):
                latencies["loop"].append(loop_lag())
                time.sleep(0.05)
            for key, character, name, pause in (("question_mark", "?", "?", hold), ("escape", "\x1b", "escape", 0.3)):
                latency = press(key, character)
                if latency is None:
                    misses.append(name)
                else:
                    latencies[name].append(latency)
                time.sleep(pause)  # ``hold``: how long the help stays open before escape

    threading.Thread(target=inject, daemon=True, name="bench-keys").start()
    app.run()
    out.write_text(json.dumps({"latencies": latencies, "misses": misses, "errors": errors}), encoding="utf-8")
    return 0


# --- driver --------------------------------------------------------------------------------


def milliseconds(values: list[float]) -> str:
    values = sorted(values)
    return (
        f"n={len(values)} median {statistics.median(values) * 1000:.1f} ms, "
        f"p90 {values[int(0.9 * (len(values) - 1))] * 1000:.1f} ms, max {values[-1] * 1000:.1f} ms"
    )


def summarize(name: str, values: list[float]) -> str:
    return f"{name}: median {statistics.median(values):.2f} s  (" + ", ".join(f"{v:.2f}" for v in values) + ")"


def main() -> int:
    if sys.argv[1:2] == ["--child-keys"]:  # inside tmux: OUT PRESSES HOLD, then the mnist-tui flags
        return keys_child(Path(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="relu-adam-500")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per run (2: the UI share takes in an epoch's end)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each side, alternating")
    parser.add_argument("--presses", type=int, default=10, help="rounds of keys during one run")
    parser.add_argument("--hold", type=float, default=0.6, help="seconds the help screen stays open")
    parser.add_argument("--key-runs", type=int, default=2, help="runs with keys pressed, each way")
    parser.add_argument("--threads", type=int, help="OMP_NUM_THREADS for every run (default: torch's own)")
    parser.add_argument(
        "--visit-views", action="store_true",
        help="in the overhead runs, show Inspect, Draw, Runs and Sweep once during training, then Train again, "
        "and count the UI's share from then on (the views stay mounted, hidden)",
    )
    parser.add_argument("--data-dir", type=Path, default=Path(os.environ.get("MNIST_TUI_DATA") or DEFAULT_DATA_DIR))
    parser.add_argument(
        "--dashboard-command", type=shlex.split, default=[str(COMMAND)],
        help="the command for the dashboard side (default: the installed mnist-tui), e.g. to try a change",
    )
    parser.add_argument(
        "--poll", type=float, default=1.0,
        help="seconds between screen captures in the overhead runs: each capture is a tmux client "
        "process and a render by the tmux server, CPU the dashboard itself does not use",
    )
    parser.add_argument("--timeout", type=float, default=300, help="seconds one run may take")
    args = parser.parse_args()
    if shutil.which("tmux") is None:
        raise SystemExit("the dashboard side needs tmux")

    print(machine(args.threads))
    print(f"{args.preset}, {args.epochs} epoch(s) on the CPU; engine training seconds from summary.json", flush=True)
    if args.visit_views:
        print("dashboard runs: Inspect, Draw, Runs and Sweep shown once after the first report, then Train; the UI counted from then on")
    times: dict[str, list[float]] = {"headless": [], "dashboard": []}
    cpu: dict[str, list[float]] = {"wall": [], "ui": [], "others": [], "tmux": []}
    with tempfile.TemporaryDirectory(prefix="mnist-tui-bench-") as folder:
        work = Path(folder)
        for repeat in range(args.repeats):
            order = ("headless", "dashboard") if repeat % 2 == 0 else ("dashboard", "headless")
            line = []
            for side in order:
                if side == "headless":
                    seconds = headless(args, work)
                    line.append(f"headless {seconds:.2f} s")
                else:
                    result = dashboard(args, work)
                    seconds = result["train_seconds"]
                    for name in cpu:
                        cpu[name].append(result[name])
                    line.append(f"dashboard {seconds:.2f} s")
                times[side].append(seconds)
            print(f"  repeat {repeat + 1}: " + ", ".join(line) + f"  (load {os.getloadavg()[0]:.1f})", flush=True)
        if args.repeats:
            headless_median = statistics.median(times["headless"])
            dashboard_median = statistics.median(times["dashboard"])
            print(summarize("headless ", times["headless"]))
            print(summarize("dashboard", times["dashboard"]))
            ratios = [d / h for h, d in zip(times["headless"], times["dashboard"])]
            print(
                f"dashboard / headless: {dashboard_median / headless_median:.3f} (medians); per repeat "
                + ", ".join(f"{r:.2f}" for r in ratios)
                + f" (median {statistics.median(ratios):.3f}: each pair ran back to back, so it drifts less)",
                flush=True,
            )
            wall = statistics.median(cpu["wall"])
            print(
                f"dashboard, while training ({wall:.1f} s wall, medians): UI thread "
                f"{statistics.median(cpu['ui']):.2f} s CPU ({statistics.median(cpu['ui']) / wall:.1%} of a core; per run "
                + ", ".join(f"{u / w:.1%}" for u, w in zip(cpu["ui"], cpu["wall"]))
                + "), "
                f"engine and other threads {statistics.median(cpu['others']):.2f} s, "
                f"tmux server {statistics.median(cpu['tmux']):.2f} s ({statistics.median(cpu['tmux']) / wall:.0%})",
                flush=True,
            )

        pressed: dict[str, list[float]] = {"?": [], "escape": [], "loop": []}
        missed = 0
        for _ in range(args.key_runs):
            result = keys(args, work)
            for name, values in result["latencies"].items():  # type: ignore[union-attr]
                pressed[name].extend(values)
            missed += len(result["misses"])  # type: ignore[arg-type]
            count = len(result["latencies"]["?"]) + len(result["latencies"]["escape"])  # type: ignore[index]
            print(f"  keys run: {count} keys, training {result['train_seconds']:.2f} s", flush=True)
        every = sorted(pressed["?"] + pressed["escape"])
        if every:
            print("during training, from the key to its action (the screen switched):")
            for name, values in (
                ("key ? (help opens)", pressed["?"]),
                ("key escape (help closes)", pressed["escape"]),
                ("all keys", every),
                ("event loop wake-up (call from another thread)", pressed["loop"]),
            ):
                print(f"{name}: {milliseconds(values)}")
            print(f"keys not handled within 5 s: {missed}")

        shown: dict[str, list[float]] = {name: [] for name, _, _, _ in VISIBLE_KEYS}
        missed = 0
        for _ in range(args.key_runs):
            result = visible_keys(args, work)
            for name, values in result["shown"].items():  # type: ignore[union-attr]
                shown[name].extend(values)
            missed += int(result["misses"])  # type: ignore[call-overload]
        if any(shown.values()):
            print("during training, from a key sent through tmux to its change in the output reaching a tmux client:")
            for name, values in shown.items():
                if values:
                    print(f"{name}: {milliseconds(values)}")
            print(f"keys not shown within 5 s: {missed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
