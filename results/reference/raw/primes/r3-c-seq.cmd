c-seq||/work/main/build/release/bin/primes --mode seq --n 1000000 --repeat 1 --out @OUT@|1|2
