py-par|mode=procs,threads;workers=4,2,1|/usr/bin/python3 /work/main/benchmarks/python/sum.py --mode {mode} --workers {workers} --n 5000000 --repeat 3 --out @OUT@|0|2
