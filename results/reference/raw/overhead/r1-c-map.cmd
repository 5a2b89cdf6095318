c-map||/work/main/build/release/bin/overhead --mode all --variant map --workers 2 --tasks 10000000 --repeat 5 --out @OUT@|0|1
