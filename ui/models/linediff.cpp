#include "ui/models/linediff.h"

#include <algorithm>

namespace deltascope::ui {

LineDiff diffLines(const QStringList& before, const QStringList& after, int maxEdits)
{
    LineDiff diff;
    const qsizetype beforeCount = before.size();
    const qsizetype afterCount = after.size();
    qsizetype head = 0;
    while (head < beforeCount && head < afterCount && before.at(head) == after.at(head))
        ++head;
    qsizetype tail = 0;
    while (tail < beforeCount - head && tail < afterCount - head && before.at(beforeCount - 1 - tail) == after.at(afterCount - 1 - tail))
        ++tail;
    // The middle parts: a = before[head, head + n), b = after[head, head + m).
    const int n = int(beforeCount - head - tail);
    const int m = int(afterCount - head - tail);
    const auto markAll = [&] {
        for (int i = 0; i < n; ++i)
            diff.removed.push_back(int(head) + i);
        for (int j = 0; j < m; ++j)
            diff.added.push_back(int(head) + j);
    };
    if (n == 0 || m == 0) {
        markAll();
        return diff;
    }
    const auto same = [&](int x, int y) { return before.at(head + x) == after.at(head + y); };

    // Myers' greedy forward search. trace[d] holds, for each diagonal k in [-d, d] (at k + d), the
    // furthest x reached with d edits.
    std::vector<std::vector<int>> trace;
    int found = -1;
    for (int d = 0; d <= std::min(maxEdits, n + m); ++d) {
        std::vector<int> v(std::size_t(2 * d + 1));
        const std::vector<int>* previous = d > 0 ? &trace.back() : nullptr;
        const auto previousAt = [&](int k) { return (*previous)[std::size_t(k + d - 1)]; };
        for (int k = -d; k <= d; k += 2) {
            int x;
            if (d == 0)
                x = 0;
            else if (k == -d || (k != d && previousAt(k - 1) < previousAt(k + 1)))
                x = previousAt(k + 1); // a line of b inserted
            else
                x = previousAt(k - 1) + 1; // a line of a removed
            int y = x - k;
            while (x < n && y < m && same(x, y)) {
                ++x;
                ++y;
            }
            v[std::size_t(k + d)] = x;
            if (x >= n && y >= m)
                found = d;
        }
        trace.push_back(std::move(v));
        if (found >= 0)
            break;
    }
    if (found < 0) {
        diff.minimal = false;
        markAll();
        return diff;
    }

    // Back from (n, m): each step of d came from diagonal k + 1 (an insertion) or k - 1 (a removal).
    int x = n;
    int y = m;
    for (int d = found; d > 0; --d) {
        const std::vector<int>& previous = trace[std::size_t(d - 1)];
        const auto previousAt = [&](int k) { return previous[std::size_t(k + d - 1)]; };
        const int k = x - y;
        const bool inserted = k == -d || (k != d && previousAt(k - 1) < previousAt(k + 1));
        const int previousK = inserted ? k + 1 : k - 1;
        const int previousX = previousAt(previousK);
        const int previousY = previousX - previousK;
        if (inserted)
            diff.added.push_back(int(head) + previousY);
        else
            diff.removed.push_back(int(head) + previousX);
        x = previousX;
        y = previousY;
    }
    std::reverse(diff.removed.begin(), diff.removed.end());
    std::reverse(diff.added.begin(), diff.added.end());
    return diff;
}

}
