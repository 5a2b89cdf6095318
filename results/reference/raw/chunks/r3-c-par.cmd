c-par|mode=threads,procs|/work/main/build/release/bin/chunks --mode {mode} --workers 2 --n 100000 --repeat 1 --out @OUT@|0|1
