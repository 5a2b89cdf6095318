# Timeline (Gantt) chart of one per-task trace, or two one above the
# other.  poolbench/timeline.py loads it after setting, on gnuplot's
# standard input:
#   datafile      7 index blocks per panel, in this order (block
#                 7*(p-1)+k for panel p):
#                 0 boxes    "x0 x1 row rgb"  a task or chunk, ms; rgb its
#                            colour as a number (neighbours differ)
#                 1 failed   "x0 x1 row"      a failed task
#                 2 merged   "x0 x1 row n"    n tasks narrower than a pixel
#                 3 labels   "x row text"     a box's id, where it fits
#                 4 queue    "x queued"       queue length, a step line
#                 5 instants "x row name"     e.g. "worker replaced"
#                 6 waits    "x0 x1 row"      a task blocked inside itself
#                            (a lock) before it ran: hatched grey
#                 (an empty block holds one line of NaN)
#   npanels, width, height, png, svg, title, footer, note
#   palette0, failedcolor, mergedcolor       legend swatches
#   keytask       the legend's name for a box: task, chunk, task or chunk
#   anyfailed, anymerged, anyqueue, anyinstants, anywaits   1: give it a
#                 legend entry
#   per panel p (variables named with p at the end, read with value()):
#     ptitle  the trace's label ("" for a single trace: the title says it)
#     xmax    time range, 0..xmax ms;  rows  tracks (caller + workers)
#     xtics, ytics, qtics   "set xtics (...)" commands, ticks written out
#     xbare   xtics without labels (the Gantt panel above a queue panel)
#     ylabel, qmax, nfailed, nmerged, nlabels, nqueue, ninstants, nwaits
#     gbot, gtop   the Gantt panel's bottom and top, screen fractions
#     qbot, qtop   the queue panel's (qtop 0: no queue panel)
# Rows run top to bottom: the caller (row 0) first, then worker 1..N;
# each box is 0.8 of a row high so neighbouring rows stay apart even at
# 64 rows.  A multiplot cannot be replotted into a second terminal, so the
# whole figure is drawn twice, PNG then SVG, by the outer loop.
half = 0.4
blk(p, k) = 7 * (p - 1) + k
do for [out = 1:2] {
    if (out == 1) {
        set terminal pngcairo size width, height font "DejaVu Sans,15" \
            noenhanced linewidth 1.5
        set output png
    } else {
        set terminal svg size width, height dynamic \
            font "DejaVu Sans,15" noenhanced linewidth 1.5
        set output svg
    }
    set multiplot
    do for [p = 1:npanels] {
        # -- the Gantt rows ----------------------------------------------
        reset
        set border 3
        set tics nomirror out
        set lmargin at screen 0.115
        set rmargin at screen 0.975
        set bmargin at screen value(sprintf("gbot%d", p))
        set tmargin at screen value(sprintf("gtop%d", p))
        set xrange [0:value(sprintf("xmax%d", p))]
        set yrange [value(sprintf("rows%d", p)) - 0.5:-0.5]
        eval value(sprintf("xtics%d", p))
        eval value(sprintf("ytics%d", p))
        set grid xtics lc rgb "#d8d8d8" back
        set ylabel value(sprintf("ylabel%d", p))
        pt = value(sprintf("ptitle%d", p))
        if (strlen(pt) > 0) { set title pt font ",15" offset 0, -0.4 }
        hasq = value(sprintf("qtop%d", p)) > 0
        if (hasq) { eval value(sprintf("xbare%d", p)) } else {
            if (p == npanels) {
                set xlabel "time since the first task was queued (ms)"
            }
        }
        if (p == 1) {
            # Title, footer and note: drawn once, with the first plot.
            set label 100 title at screen 0.5, screen 1 - 28.0 / height \
                center font ",18"
            set label 101 footer at screen 0.01, screen 12.0 / height \
                left font ",11" textcolor rgb "#505050"
            set label 102 note at screen 0.01, screen 36.0 / height \
                left font ",11" textcolor rgb "#A00000"
            set key at screen 0.5, screen 1 - 52.0 / height center top \
                horizontal maxrows 1 samplen 1.5 font ",12" \
                width 2 noautotitle
        } else {
            unset key
        }
        set style fill solid 1.0 noborder
        cmd = sprintf("datafile index %d using (($1+$2)/2):3:1:2:" . \
            "($3-half):($3+half):4 with boxxyerror lc rgb variable " . \
            "notitle", blk(p, 0))
        if (value(sprintf("nmerged%d", p)) > 0) {
            cmd = cmd . sprintf(", datafile index %d using " . \
                "(($1+$2)/2):3:1:2:($3-half):($3+half) with boxxyerror " . \
                "fs solid 1.0 noborder lc rgb mergedcolor notitle", \
                blk(p, 2))
        }
        if (value(sprintf("nwaits%d", p)) > 0) {
            cmd = cmd . sprintf(", datafile index %d using " . \
                "(($1+$2)/2):3:1:2:($3-half):($3+half) with boxxyerror " . \
                "fs pattern 5 border lc rgb '#909090' lw 1 " . \
                "lc rgb '#909090' notitle", blk(p, 6))
        }
        if (value(sprintf("nfailed%d", p)) > 0) {
            cmd = cmd . sprintf(", datafile index %d using " . \
                "(($1+$2)/2):3:1:2:($3-half):($3+half) with boxxyerror " . \
                "fs pattern 4 border lc rgb failedcolor lw 2 " . \
                "lc rgb failedcolor notitle", blk(p, 1))
        }
        if (value(sprintf("nlabels%d", p)) > 0) {
            cmd = cmd . sprintf(", datafile index %d using 1:2:3 " . \
                "with labels center font ',10' textcolor rgb '#000000' " . \
                "notitle", blk(p, 3))
        }
        if (value(sprintf("ninstants%d", p)) > 0) {
            cmd = cmd . sprintf(", datafile index %d using 1:2 " . \
                "with points pt 9 ps 1.6 lc rgb '#000000' notitle", \
                blk(p, 5))
        }
        if (p == 1) {
            cmd = cmd . ", keyentry with boxes fs solid 1.0 " . \
                "lc rgb palette0 title keytask"
            if (anymerged) {
                cmd = cmd . ", keyentry with boxes fs solid 1.0 " . \
                    "lc rgb mergedcolor title 'tiny tasks, merged'"
            }
            if (anyfailed) {
                cmd = cmd . ", keyentry with boxes fs pattern 4 border " . \
                    "lc rgb failedcolor lc rgb failedcolor " . \
                    "title 'failed (status not 0)'"
            }
            if (anywaits) {
                cmd = cmd . ", keyentry with boxes fs pattern 5 border " . \
                    "lc rgb '#909090' lc rgb '#909090' " . \
                    "title 'waiting for a lock'"
            }
            if (anyinstants) {
                cmd = cmd . ", keyentry with points pt 9 ps 1.6 " . \
                    "lc rgb '#000000' title 'worker replaced'"
            }
            if (anyqueue) {
                cmd = cmd . ", keyentry with lines lw 2 " . \
                    "lc rgb '#404040' title 'tasks queued'"
            }
        }
        eval "plot " . cmd
        # -- the queue length under it -----------------------------------
        if (hasq) {
            reset
            unset key
            set border 3
            set tics nomirror out
            set lmargin at screen 0.115
            set rmargin at screen 0.975
            set bmargin at screen value(sprintf("qbot%d", p))
            set tmargin at screen value(sprintf("qtop%d", p))
            set xrange [0:value(sprintf("xmax%d", p))]
            set yrange [0:value(sprintf("qmax%d", p))]
            eval value(sprintf("xtics%d", p))
            eval value(sprintf("qtics%d", p))
            set grid xtics lc rgb "#d8d8d8" back
            set ylabel "queued" font ",12"
            if (p == npanels) {
                set xlabel "time since the first task was queued (ms)"
            }
            if (value(sprintf("nqueue%d", p)) > 0) {
                eval sprintf("plot datafile index %d using 1:2 with " . \
                    "steps lw 2 lc rgb '#404040' notitle", blk(p, 4))
            }
        }
    }
    unset multiplot
    unset output
}
