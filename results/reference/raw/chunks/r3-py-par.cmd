py-par|mode=threads,procs|/usr/bin/python3 /work/main/benchmarks/python/chunks.py --mode {mode} --workers 2 --n 10000 --repeat 1 --out @OUT@|0|1
