py-par|mode=threads,procs;workers=1,2,4|/usr/bin/python3 /work/main/benchmarks/python/primes.py --mode {mode} --workers {workers} --n 200000 --repeat 1 --out @OUT@|1|2
