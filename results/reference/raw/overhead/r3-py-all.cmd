py-all|variant=bulk,roundtrip,map|/usr/bin/python3 /work/main/benchmarks/python/overhead.py --mode all --variant {variant} --workers 2 --tasks 300 --repeat 5 --out @OUT@|0|1
