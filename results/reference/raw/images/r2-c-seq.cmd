c-seq||/work/main/build/release/bin/images --mode seq --images 32 --repeat 3 --out @OUT@|1|2
