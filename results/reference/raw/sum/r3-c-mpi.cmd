c-mpi|variant=static,dynamic,local;np=1,2,4|/work/main/scripts/mpi-run.sh -n {np} sum --variant {variant} --workers {np} --n 10000000 --repeat 3 --out @OUT@|0|2
