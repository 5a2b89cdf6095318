c-par|mode=procs,threads;workers=4,2,1|/work/main/build/release/bin/images --mode {mode} --workers {workers} --images 32 --repeat 3 --out @OUT@|1|2
