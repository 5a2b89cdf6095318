c-par|mode=threads,procs;workers=1,2,4|/work/main/build/release/bin/primes --mode {mode} --workers {workers} --n 1000000 --repeat 1 --out @OUT@|1|2
