"""poolbench: the benchmark suite, one job per module.

Running half: cli (options), plan (which commands, in which order),
calibrate (sizes for this machine), runner (hyperfine, process groups,
samples), machine (machine.json), runfolder (atomic files and folders),
progress (the quiet terminal).  Reporting half: stats, analyse, charts,
report, compare.  scripts/bench is the entry point; results/README.md
describes the run folder they share.
"""
