c-copy|workers=1,2,4|/work/main/build/release/bin/sum --mode procs --copy --workers {workers} --n 10000000 --repeat 3 --out @OUT@|0|2
