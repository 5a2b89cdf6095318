py-seq||/usr/bin/python3 /work/main/benchmarks/python/primes.py --mode seq --n 200000 --repeat 1 --out @OUT@|1|2
