c-seq||/work/main/build/release/bin/sum --mode seq --n 10000000 --repeat 3 --out @OUT@|0|2
