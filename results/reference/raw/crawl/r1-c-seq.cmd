c-seq||/work/main/build/release/bin/crawl --mode seq --pages 200 --delay-ms 10 --repeat 1 --out @OUT@|1|2
