py-seq||/usr/bin/python3 /work/main/benchmarks/python/chunks.py --mode seq --n 10000 --repeat 1 --out @OUT@|0|1
