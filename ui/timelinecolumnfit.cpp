#include "ui/timelinecolumnfit.h"

#include <QtGlobal>

#include <algorithm>

namespace deltascope::ui {

TimelineColumnFit::Result TimelineColumnFit::fit(int available) const
{
    const auto count = columns.size();
    Result result;
    result.hidden.fill(false, count);
    result.hiddenForRoom.fill(false, count);
    QList<int> wanted(count);
    for (qsizetype i = 0; i < count; ++i) {
        wanted[i] = std::max(columns[i].wanted, columns[i].minimum);
        result.hidden[i] = columns[i].choice == Choice::Hidden;
    }
    result.widths = wanted;
    const int room = available - summaryMinimum;
    const auto sumOf = [&](auto width) {
        int sum = 0;
        for (qsizetype i = 0; i < count; ++i) {
            if (!result.hidden[i])
                sum += width(i);
        }
        return sum;
    };
    auto nextToHide = hideOrder.cbegin();
    for (;;) {
        const int wantedSum = sumOf([&](qsizetype i) { return wanted[i]; });
        if (wantedSum <= room)
            return result;
        const int minimumSum = sumOf([&](qsizetype i) { return columns[i].minimum; });
        if (minimumSum <= room) {
            // Each gives way in proportion to its slack; cumulative shares, so no pixel is lost to
            // rounding.
            const int take = wantedSum - room;
            const int slack = wantedSum - minimumSum;
            int spareSoFar = 0;
            int takenSoFar = 0;
            for (qsizetype i = 0; i < count; ++i) {
                if (result.hidden[i])
                    continue;
                spareSoFar += wanted[i] - columns[i].minimum;
                const int takenByNow = int(qint64(spareSoFar) * take / slack);
                result.widths[i] = wanted[i] - (takenByNow - takenSoFar);
                takenSoFar = takenByNow;
            }
            return result;
        }
        while (nextToHide != hideOrder.cend()
            && (*nextToHide < 0 || *nextToHide >= count || result.hidden[*nextToHide] || columns[*nextToHide].choice != Choice::Auto))
            ++nextToHide;
        if (nextToHide == hideOrder.cend()) {
            // Nothing more may hide (the user chose to show it): the rest at their minimums, and
            // Summary gets what is left, or the view scrolls.
            for (qsizetype i = 0; i < count; ++i) {
                if (!result.hidden[i])
                    result.widths[i] = columns[i].minimum;
            }
            return result;
        }
        result.hidden[*nextToHide] = true;
        result.hiddenForRoom[*nextToHide] = true;
    }
}

}
