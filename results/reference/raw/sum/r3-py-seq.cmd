py-seq||/usr/bin/python3 /work/main/benchmarks/python/sum.py --mode seq --n 5000000 --repeat 3 --out @OUT@|0|2
