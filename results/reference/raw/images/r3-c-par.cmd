c-par|mode=threads,procs;workers=1,2,4|/work/main/build/release/bin/images --mode {mode} --workers {workers} --images 32 --repeat 3 --out @OUT@|1|2
