py-par|mode=threads,procs;workers=1,2,4,8,16,32,64|/usr/bin/python3 /work/main/benchmarks/python/io.py --mode {mode} --workers {workers} --tasks 64 --delay-ms 5 --repeat 1 --out @OUT@|1|2
