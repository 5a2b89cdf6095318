c-par|workers=1,2,4,8,16,32,64|/work/main/build/release/bin/crawl --mode threads --workers {workers} --pages 200 --delay-ms 10 --repeat 1 --out @OUT@|1|2
