c-par|mode=threads,procs;workers=1,2,4,8,16,32,64|/work/main/build/release/bin/io --mode {mode} --workers {workers} --tasks 64 --delay-ms 5 --repeat 1 --out @OUT@|1|2
