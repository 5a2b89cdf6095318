c-par|workers=64,32,16,8,4,2,1|/work/main/build/release/bin/crawl --mode threads --workers {workers} --pages 200 --delay-ms 10 --repeat 1 --out @OUT@|1|2
