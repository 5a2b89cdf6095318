c-mpi|variant=static,dynamic;np=1,2,4|/work/main/scripts/mpi-run.sh -n {np} primes --variant {variant} --workers {np} --n 1000000 --repeat 1 --out @OUT@|1|2
