c-seq||/work/main/build/release/bin/chunks --mode seq --n 100000 --repeat 1 --out @OUT@|0|1
