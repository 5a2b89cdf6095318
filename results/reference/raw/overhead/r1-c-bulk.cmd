c-bulk||/work/main/build/release/bin/overhead --mode all --variant bulk --workers 2 --tasks 100000 --repeat 5 --out @OUT@|0|1
