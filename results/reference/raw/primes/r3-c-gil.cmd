c-gil|workers=1,2,4|/work/main/build/release/bin/primes --mode threads --gil --workers {workers} --n 1000000 --repeat 1 --out @OUT@|1|2
