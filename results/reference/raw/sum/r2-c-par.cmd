c-par|mode=procs,threads;workers=4,2,1|/work/main/build/release/bin/sum --mode {mode} --workers {workers} --n 10000000 --repeat 3 --out @OUT@|0|2
