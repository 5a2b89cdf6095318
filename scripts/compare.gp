# Bar chart: the ratio of two runs' median kernel times per configuration
# (B / A, log scale, 1 = no change), error bars from the two IQRs.
# scripts/report.py compare runs it with:
#   datafile  rows "index label ratio low high";  npoints
#   png, svg, title
w = (npoints > 30) ? 1800 : 1280
set terminal pngcairo size w,1000 font "DejaVu Sans,14" noenhanced \
    linewidth 1.5
set output png
set title title font ",16"
set ylabel "kernel time ratio B / A (log scale; below 1: B faster)"
set logscale y 2
set grid ytics lc rgb "#d0d0d0"
set border 3
set tics nomirror
set xtics rotate by 90 right font ",11"
set xrange [-1:npoints]
set bmargin 17
set style fill solid 0.8 border -1
set key top left box opaque
# Bars grow from 1 (no change): down and blue where B is faster, up and
# red where B is slower.
plot datafile using 1:3:($1-0.35):($1+0.35):($3 < 1 ? $3 : 1): \
         ($3 < 1 ? 1 : $3):($3 < 1 ? 0x0072B2 : 0xD55E00):xtic(2) \
         with boxxyerror lc rgb variable \
         title "B / A (median): blue faster, red slower", \
     '' using 1:3:4:5 with yerrorbars lc rgb "#000000" pt 0 \
         title "range from the IQRs", \
     1 with lines dt 2 lc rgb "#000000" lw 1.5 title "no change"
set terminal svg size w,1000 dynamic font "DejaVu Sans,14" noenhanced \
    linewidth 1.5
set output svg
replot
unset output
