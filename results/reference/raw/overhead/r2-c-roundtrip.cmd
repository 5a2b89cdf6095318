c-roundtrip||/work/main/build/release/bin/overhead --mode all --variant roundtrip --workers 2 --tasks 5000 --repeat 5 --out @OUT@|0|1
