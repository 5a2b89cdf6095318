# Bar chart, log scale: the per-task cost of every implementation (the
# overhead workload), one cluster per implementation, one bar per variant,
# error bars from the first to the third quartile.  poolbench/charts.py
# loads it after setting:
#   datafile   rows: "name" then (median low high) per variant, in seconds
#   nvariants, variants, colors   the variants' count, names, colours
#   png, svg, title, ylabel, xlabel, footer, ymin, ymax, ytics_cmd
set terminal pngcairo size 1280,720 font "DejaVu Sans,15" noenhanced \
    linewidth 1.5
set output png
set title title font ",18"
set ylabel ylabel
set xlabel xlabel
set logscale y 10
set yrange [ymin:ymax]
eval ytics_cmd
set grid ytics lc rgb "#d8d8d8"
set border 3
set tics nomirror
set xtics rotate by -30 left nomirror font ",13"
set key outside right top vertical Left reverse box opaque font ",13"
set style data histogram
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.85 border -1
set bmargin 8
set rmargin 4
set label 100 footer at screen 0.01, screen 0.025 left font ",11" \
    textcolor rgb "#505050"
plot for [i=1:nvariants] datafile \
    using (column(3*i-1)):(column(3*i)):(column(3*i+1)):xtic(1) \
    lc rgb word(colors, i) title word(variants, i)
set terminal svg size 1280,720 dynamic font "DejaVu Sans,15" noenhanced \
    linewidth 1.5
set output svg
replot
unset output
