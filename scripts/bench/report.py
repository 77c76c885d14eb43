"""docs/performance.md and docs/performance.png from the figures of one run of scripts/bench.py."""

import math
import os

import matplotlib

matplotlib.use("Agg")  # no display: write files only
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def _seconds(value):
    return "%.1f s" % value if value >= 10 else "%.2f s" % value


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _short(text, width=80):
    return text if len(text) <= width else text[:width - 1] + "…"


def _by_kind_rows(role, baseline):
    kinds = list(dict.fromkeys(list(role["by_kind"]) + list(baseline["by_kind"])))
    return [[kind, role["by_kind"].get(kind, 0), baseline["by_kind"].get(kind, 0)] for kind in kinds]


def summary_rows(results):
    rows = []
    noop = results.get("noop")
    if noop:
        role, baseline = noop["role"], noop["baseline"]
        rows.append(["Role no-op re-run vs the hand-written `uri`/`stat` play (wall time, medians)",
                     "**%.2f×** (%s vs %s)" % (noop["ratio"], _seconds(role["median_seconds"]),
                                              _seconds(baseline["median_seconds"]))])
        rows.append(["The same, in CPU time (user + system, ansible-playbook and its modules)",
                     "%.2f× (%s vs %s)" % (noop["cpu_ratio"], _seconds(role["median_cpu_seconds"]),
                                          _seconds(baseline["median_cpu_seconds"]))])
        rows.append(["API requests of one no-op run (role vs hand-written play)",
                     "**%d** vs %d (objects read by hand: %d)" % (role["requests"], baseline["requests"],
                                                                 noop["objects"])])
        rows.append(["`/auth/time` and OAuth2 token requests in the role's no-op",
                     "%d and %d" % (role["by_kind"].get("clock (/auth/time)", 0),
                                    role["by_kind"].get("OAuth2 token", 0))])
        rows.append(["Task executions (hosts × loop items) of a no-op, role vs hand-written play",
                     "%d vs %d" % (role["executions"], baseline["executions"])])
    for ready in results.get("readiness", []):
        rows.append(["Credential seen READY after the server made it ready (server delay %g s)" % ready["delay"],
                     "**+%.2f s** median, +%.2f s at worst (%d runs)" % (ready["median_after_ready"],
                                                                         ready["max_after_ready"], ready["runs"])])
    lookups = results.get("lookups", {}).get("sizes", [])
    if lookups:
        last = lookups[-1]
        rows.append(["Lookup by name in a KMS of %s keys (`okms_service_key_info`)" % format(last["keys"], ","),
                     "**%d requests, %s** (by id: %d, %s)" % (
                         last["by_name"]["requests"], _seconds(last["by_name"]["seconds"]),
                         last["by_id"]["requests"], _seconds(last["by_id"]["seconds"]))])
    return rows


def markdown(results, machine, plot_name):
    out = ["# Performance", ""]
    out += ["Written by `make bench` (`scripts/bench.py`) on %s: the figures of its last run, against the local "
            "OKMS emulator on one machine. Read them as ratios and counts measured side by side in one run, not "
            "as absolute times: against the real API every request also pays a network round trip, which makes "
            "the request counts matter more, not less." % machine["date"], ""]
    if machine.get("busy"):
        out += ["**The machine was busy during this run** (median load average %.1f on %d CPUs): other work "
                "stretched the wall times, unevenly. The CPU times and the request counts are the figures to "
                "compare; run `make bench` again on a quiet machine for the wall times." % (
                    machine["load"], machine["cpus"]), ""]
    out += ["## Summary", "", _table(["what", "measured"], summary_rows(results)), ""]
    if "noop" in results:
        out += _noop_section(results["noop"])
    if results.get("readiness"):
        out += _readiness_section(results["readiness"])
    if results.get("lookups"):
        out += _lookup_section(results["lookups"], plot_name)
    out += ["## Tokens and clocks", "",
            "With OAuth2 client credentials each module process fetches one access token and keeps it in memory "
            "only: it is never cached on disk, because a token is a secret (anyone who reads it acts as the "
            "service account until it expires). With application-key signatures, the `/auth/time` requests "
            "counted above are the only clock reads.", ""]
    out += ["## Machine", "", _table(["", ""], [[key, value] for key, value in machine["rows"]]), ""]
    out += ["## Reproduce", "",
            "```console", "make bench", "```", "",
            "It installs `requirements-bench.txt` (matplotlib, for the plot) into `.venv`, starts its own "
            "emulators, prints one line per phase, keeps the whole output (every `ansible-playbook` run, the "
            "emulators' logs and audit logs, `results.json` with every figure) under `build/bench/`, and "
            "rewrites this file and `%s`. It is not part of `make test`. `python scripts/bench.py --help` "
            "lists its options (number of pairs, key counts, delays). This run took %s." % (
                plot_name, machine["runtime"]), ""]
    return "\n".join(out)


def _noop_section(noop):
    role, baseline = noop["role"], noop["baseline"]
    out = ["## 1. The role's no-op re-run against a hand-written play", ""]
    out += ["Inventory: %d local hosts (`ansible_connection: local`, a directory each), %d service keys (%s), "
            "the role's defaults otherwise (keys generated on the hosts, `ca.pem`, `rest-ca.pem` and `okms.yaml` "
            "deployed), Ansible's default of %s forks, no `become`. The role (`ansible-playbook "
            "ovhcloud.kms.bootstrap`) runs once to converge, authenticated with %s from `OVH_*` variables; then "
            "its no-op re-run and the hand-written play are timed in %d alternated pairs (wall time of "
            "`ansible-playbook`)." % (noop["hosts"], noop["keys"], noop["key_mix"], noop["forks"],
                                      noop["auth"], len(role["runs"])), ""]
    out += ["The hand-written play reads the same objects with `ansible.builtin.uri` and `ansible.builtin.stat` "
            "(`uri` cannot sign requests, so it takes an OAuth2 bearer token from the token endpoint once per "
            "play): the KMS, each key and each host's credential by id (run on the controller: %d `uri` calls), "
            "and each of the host's files (%s: %d `stat` calls per host). It checks nothing, so it is the "
            "floor of what any playbook reading that state costs." % (
                noop["objects"] + 1, ", ".join("`%s`" % name for name in noop["files"]), len(noop["files"])), ""]
    rows = []
    for index, (role_run, base_run) in enumerate(zip(role["runs"], baseline["runs"])):
        rows.append([index + 1, role_run["first"] and "role" or "hand-written",
                     _seconds(role_run["seconds"]), _seconds(base_run["seconds"]),
                     "%.2f×" % (role_run["seconds"] / base_run["seconds"]),
                     _seconds(role_run["cpu_seconds"]), _seconds(base_run["cpu_seconds"])])
    rows.append(["**median**", "", "**%s**" % _seconds(role["median_seconds"]),
                 "**%s**" % _seconds(baseline["median_seconds"]), "**%.2f×**" % noop["ratio"],
                 _seconds(role["median_cpu_seconds"]), _seconds(baseline["median_cpu_seconds"])])
    out += [_table(["pair", "first", "role no-op", "hand-written", "ratio", "role CPU", "hand-written CPU"],
                   rows), ""]
    out += ["CPU time is that of `ansible-playbook` and every process it waited for (its forks and modules); "
            "the emulator's is not in it. Other load on the machine changes it much less than the wall time.", ""]
    if role["changed"]:
        out += ["**Warning:** the role's re-run reported %d changed results: it was not a no-op." % role["changed"],
                ""]
    out += ["API requests of one run, from the emulator's audit log (the last pair; every pair sent %s):" % (
        "the same number" if noop["requests_stable"] else "between %d and %d for the role" % tuple(
            noop["role_request_range"])), ""]
    rows = _by_kind_rows(role, baseline)
    rows.append(["**all**", "**%d**" % role["requests"], "**%d**" % baseline["requests"]])
    rows.append(["of which write (must be 0)", role["writes"], baseline["writes"]])
    out += [_table(["request", "role no-op", "hand-written"], rows), ""]
    out += ["The role's requests by the module or plugin that sent them (the name in the collection's "
            "`User-Agent`; `unknown` when it names none):", ""]
    out += [_table(["module", "requests"], [[name, count] for name, count in role["by_module"].items()]), ""]
    out += ["Where the role's no-op time goes: its tasks, slowest first (the last run; an included task counts "
            "once per include; requests are put in the task that was running when the emulator logged them):", ""]
    rows = [[_short(row["name"]), "`%s`" % row["action"], row["runs"], row["requests"], _seconds(row["seconds"])]
            for row in role["tasks"][:15]]
    out += [_table(["task", "action", "executions", "requests", "time"], rows), ""]
    out += ["Task executions (hosts × loop items): role %d (%d of them send a module), hand-written %d. The "
            "rest of the wall time is `ansible-playbook` itself (start-up, inventory, role loading): "
            "%s for the role, %s for the hand-written play." % (
                role["executions"], role["module_runs"], baseline["executions"],
                _seconds(role["overhead_seconds"]), _seconds(baseline["overhead_seconds"])), ""]
    return out


def _readiness_section(readiness):
    out = ["## 2. Credential readiness", ""]
    out += ["A new credential stays `CREATING` for the emulator's `--credential-ready-delay`. For each delay, "
            "`ovhcloud.kms.okms_credential` (private key generated on the controller, `wait: true`) creates %d "
            "credentials one after the other. *After ready* is the time from the moment the server made the "
            "credential ready (its creation time, from the emulator's state, plus the delay) to the first "
            "request of the module that read it READY (audit log); *task* is from the task's start to that "
            "request, minus the delay (so it includes Ansible's and the module's start-up, key generation and "
            "the POST)." % readiness[0]["runs"], ""]
    rows = [["%g s" % r["delay"], r["runs"], "+%.2f s" % r["median_after_ready"], "+%.2f s" % r["max_after_ready"],
             "+%.2f s" % r["median_task_minus_delay"], "%g" % r["median_polls"]] for r in readiness]
    out += [_table(["server delay", "credentials", "after ready (median)", "after ready (worst)",
                    "task start to READY, minus the delay (median)", "status reads (median)"], rows), ""]
    return out


def _lookup_section(lookups, plot_name):
    out = ["## 3. Lookups as the KMS grows", ""]
    out += ["One KMS grows to %s oct keys, created directly through the API (one `POST` each, one connection, "
            "OAuth2). At each size, one playbook runs `ovhcloud.kms.okms_service_key_info` %d times each: by "
            "`name` (the newest key), by `id` (the same key) and with no filter (every key). Requests are "
            "counted per task in the audit log (token or clock reads included); the time is the task's, "
            "from its start to its result (module start-up included). Medians of the repeats." % (
                ", ".join(format(s["keys"], ",") for s in lookups["sizes"]), lookups["repeats"]), ""]
    rows = []
    for size in lookups["sizes"]:
        pages = math.ceil(size["keys"] / 100)
        rows.append([format(size["keys"], ","), size["by_name"]["requests"], _seconds(size["by_name"]["seconds"]),
                     size["by_id"]["requests"], _seconds(size["by_id"]["seconds"]),
                     size["all"]["requests"], _seconds(size["all"]["seconds"]),
                     "%.2f ms" % (1000 * size["all"]["seconds"] / size["keys"]), pages])
    out += [_table(["keys", "by name: requests", "by name: time", "by id: requests", "by id: time",
                    "every key: requests", "every key: time", "every key: time per key", "⌈N/100⌉"], rows), ""]
    out += ["List pages per lookup by name: %s (the target is at most ⌈N/100⌉)." % ", ".join(
        "%d at %s keys" % (s["by_name"]["list_pages"], format(s["keys"], ",")) for s in lookups["sizes"]), ""]
    out += ["Creating the keys (the emulator's bulk creation speed, one `POST` at a time):", ""]
    rows = [["%s → %s" % (format(b["from"], ","), format(b["to"], ",")), "%.1f ms" % b["ms_per_key"],
             "%.1f ms" % b["first_ms"], "%.1f ms" % b["last_ms"]] for b in lookups["creation"]]
    out += [_table(["keys", "per key (mean)", "first 100 keys of the batch (mean)",
                    "last 100 keys of the batch (mean)"], rows), ""]
    out += ["![Requests and time per lookup against the number of keys](%s)" % plot_name, ""]
    return out


def _log_x(axis, sizes, label="service keys in the KMS"):
    axis.set_xscale("log")
    axis.set_xlabel(label)
    axis.set_xticks(sizes)
    axis.set_xticklabels([format(n, ",") for n in sizes])
    if axis.get_yscale() == "linear":
        axis.set_ylim(bottom=0)
    axis.grid(True, which="both", alpha=0.3)


def plot(results, path):
    """Top: requests and time per lookup, and the no-op; bottom: the same per key, and key creation."""
    lookups = results.get("lookups", {}).get("sizes", [])
    noop = results.get("noop")
    if not lookups and not noop:
        return
    figure, grid = plt.subplots(2, 3, figsize=(15, 8.4))
    if lookups:
        sizes = [s["keys"] for s in lookups]
        series = (("by_name", "by name", "o-"), ("by_id", "by id", "s-"), ("all", "every key", "^-"))
        requests_axis, time_axis = grid[0][0], grid[0][1]
        for field, label, style in series:
            requests_axis.plot(sizes, [s[field]["requests"] for s in lookups], style, label=label)
            time_axis.plot(sizes, [s[field]["seconds"] for s in lookups], style, label=label)
        requests_axis.plot(sizes, [math.ceil(n / 100) for n in sizes], "k:", label="⌈N/100⌉ pages")
        requests_axis.set_title("API requests per okms_service_key_info call")
        requests_axis.set_ylabel("requests")
        time_axis.set_title("Time per okms_service_key_info task")
        time_axis.set_ylabel("seconds")
        per_requests, per_time = grid[1][0], grid[1][1]
        for field, label, style in series:
            if field == "by_id":
                continue  # one key whatever the KMS holds: nothing to share out
            per_requests.plot(sizes, [100 * s[field]["requests"] / s["keys"] for s in lookups], style, label=label)
            per_time.plot(sizes, [1000 * s[field]["seconds"] / s["keys"] for s in lookups], style, label=label)
        per_requests.set_title("Requests per 100 keys in the KMS")
        per_requests.set_ylabel("requests / 100 keys")
        per_time.set_title("Time per key in the KMS")
        per_time.set_ylabel("ms / key")
        per_time.set_yscale("log")
        for axis in (requests_axis, time_axis, per_requests, per_time):
            _log_x(axis, sizes)
            axis.legend()
        curve = results["lookups"].get("creation_curve", [])
        if curve:
            axis = grid[1][2]
            axis.plot([point[0] for point in curve], [point[1] for point in curve], ".-", color="tab:purple")
            axis.set_title("Creating keys one POST at a time")
            axis.set_ylabel("ms per key (mean of the last keys)")
            _log_x(axis, sizes, "keys in the KMS after the POST")
        else:
            grid[1][2].axis("off")
    else:
        for axis in (grid[0][0], grid[0][1], grid[1][0], grid[1][1], grid[1][2]):
            axis.axis("off")
    axis = grid[0][2]
    if noop:
        arms = (("role no-op", noop["role"], "tab:blue"), ("hand-written uri/stat", noop["baseline"], "tab:gray"))
        width = 0.38
        for offset, (label, arm, color) in zip((-width / 2, width / 2), arms):
            values = (arm["median_seconds"], arm["median_cpu_seconds"])
            bars = axis.bar([index + offset for index in range(2)], values, width, label=label, color=color)
            for bar, value in zip(bars, values):
                axis.annotate("%.1f s" % value, (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              ha="center", va="bottom", fontsize=9)
        axis.set_xticks([0, 1])
        axis.set_xticklabels(["wall time", "CPU time"])
        top = max(max(arm["median_seconds"], arm["median_cpu_seconds"]) for _label, arm, _color in arms)
        axis.set_ylim(0, top * 1.3)
        axis.set_ylabel("seconds (medians)")
        axis.legend(title="requests: role %d, by hand %d" % (noop["role"]["requests"], noop["baseline"]["requests"]),
                    loc="upper right")
        axis.set_title("No-op re-run: %d keys, %d hosts" % (noop["keys"], noop["hosts"]))
    else:
        axis.axis("off")
    figure.tight_layout()
    tmp = path + ".tmp.png"
    figure.savefig(tmp, dpi=90)
    plt.close(figure)
    os.replace(tmp, path)


def write(results, machine, output_dir, md_name="performance.md", png_name="performance.png"):
    os.makedirs(output_dir, exist_ok=True)
    plot(results, os.path.join(output_dir, png_name))
    tmp = os.path.join(output_dir, md_name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(markdown(results, machine, png_name))
    os.replace(tmp, os.path.join(output_dir, md_name))
