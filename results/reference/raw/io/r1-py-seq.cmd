py-seq||/usr/bin/python3 /work/main/benchmarks/python/io.py --mode seq --tasks 64 --delay-ms 5 --repeat 1 --out @OUT@|1|2
