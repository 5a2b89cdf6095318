c-mpi|variant=local,dynamic,static;np=4,2,1|/work/main/scripts/mpi-run.sh -n {np} sum --variant {variant} --workers {np} --n 10000000 --repeat 3 --out @OUT@|0|2
