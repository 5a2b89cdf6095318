c-mpi|variant=dynamic,static;np=4,2,1|/work/main/scripts/mpi-run.sh -n {np} primes --variant {variant} --workers {np} --n 1000000 --repeat 1 --out @OUT@|1|2
