# Two bar panels side by side, one chart: what crossing a host boundary
# costs the MPI sum (the suite's hosts step, poolbench/hosts.py).  Left:
# the sum's kernel time; right: the rate its data moved between ranks.  In
# both, one cluster per variant, one bar for the ranks on one host (shared
# memory), one for the ranks on separate hosts (TCP); whiskers are the
# median's 95% bootstrap interval.  poolbench/hosts.py loads it after
# setting:
#   datafile   rows: "variant", then median low high of: kernel on one host
#              (ms), across hosts (ms), GB/s on one host, across hosts
#              (NaN: no bar, e.g. a variant that moves nothing)
#   png, svg, title, xlabel, klabel, glabel, one, two (the two series'
#   names), colors (two words), kmax, gmax, ktics_cmd, gtics_cmd, gnote,
#   footer
# Linear axes from 0: a bar's length is the quantity.  The legend sits
# below both panels, outside them, with the footer under it.
set style data histogram
set style histogram errorbars gap 1 lw 1.5
set style fill solid 0.85 border -1
set grid ytics lc rgb "#d8d8d8"
set border 3
set tics nomirror
set xtics nomirror font ",14"
set xlabel xlabel font ",13"
set lmargin 10
set rmargin 3
# Both panels, drawn once per terminal: PNG, then the same chart as SVG.
do for [t=1:2] {
    if (t == 1) {
        set terminal pngcairo size 1280,720 font "DejaVu Sans,15" \
            noenhanced linewidth 1.5
        set output png
    } else {
        set terminal svg size 1280,720 dynamic font "DejaVu Sans,15" \
            noenhanced linewidth 1.5
        set output svg
    }
    set label 100 footer at screen 0.01, screen 0.025 left font ",11" \
        textcolor rgb "#505050"
    set label 101 gnote at screen 0.99, screen 0.025 right font ",11" \
        textcolor rgb "#505050"
    set multiplot title title font ",18"
    # Left: the sum's kernel time; the legend below both panels.
    set origin 0.0, 0.12
    set size 0.5, 0.8
    set key at screen 0.5, screen 0.075 center horizontal maxrows 1 \
        Left reverse box opaque font ",13" samplen 2 width 2
    set ylabel klabel
    set yrange [0:kmax]
    eval ktics_cmd
    plot datafile using 2:3:4:xtic(1) lc rgb word(colors, 1) title one, \
        '' using 5:6:7 lc rgb word(colors, 2) title two
    # Right: the rate the data moved.
    set origin 0.5, 0.12
    set size 0.5, 0.8
    unset key
    unset label 100
    unset label 101
    set ylabel glabel
    set yrange [0:gmax]
    eval gtics_cmd
    plot datafile using 8:9:10:xtic(1) lc rgb word(colors, 1) notitle, \
        '' using 11:12:13 lc rgb word(colors, 2) notitle
    unset multiplot
    unset output
}
