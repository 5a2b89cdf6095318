py-par|mode=procs,threads;workers=4,2,1|/usr/bin/python3 /work/main/benchmarks/python/primes.py --mode {mode} --workers {workers} --n 200000 --repeat 1 --out @OUT@|1|2
