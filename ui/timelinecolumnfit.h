#pragma once

#include <QList>

namespace deltascope::ui {

// How the timeline's columns share the view's width, in plain numbers (tested headless). The
// columns before the last one, Summary (which stretches), each have the width wanted (the default
// or the user's) and a minimum below which their text elides to little; Summary keeps at least
// `summaryMinimum`. When the wanted widths leave Summary less, the columns give way down to their
// minimums in proportion to what they can spare; when even the minimums do not fit, columns hide
// one by one in `hideOrder`, and come back once there is room. A column the user showed or hid
// stays so: an explicit choice wins over the automatic hiding.
struct TimelineColumnFit {
    enum class Choice { Auto, Shown, Hidden };
    struct Column {
        int wanted = 0;
        int minimum = 0;
        Choice choice = Choice::Auto;
    };
    struct Result {
        QList<int> widths; // of every column, hidden ones included (their width when shown again)
        QList<bool> hidden;
        QList<bool> hiddenForRoom; // hidden automatically, not by choice
    };

    QList<Column> columns;
    QList<int> hideOrder; // the columns that may hide for room, least important first
    int summaryMinimum = 0;

    Result fit(int available) const;
};

}
