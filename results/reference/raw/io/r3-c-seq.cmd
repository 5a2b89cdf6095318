c-seq||/work/main/build/release/bin/io --mode seq --tasks 64 --delay-ms 5 --repeat 1 --out @OUT@|1|2
