c-par|mode=procs,threads;workers=64,32,16,8,4,2,1|/work/main/build/release/bin/io --mode {mode} --workers {workers} --tasks 64 --delay-ms 5 --repeat 1 --out @OUT@|1|2
