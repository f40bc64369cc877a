#include "ui/jsonhighlighter.h"

namespace deltascope::ui {

JsonHighlighter::JsonHighlighter(QTextDocument* document)
    : QSyntaxHighlighter(document)
{
    m_key.setForeground(QColor(38, 139, 210));
    m_string.setForeground(QColor(42, 161, 152));
    m_number.setForeground(QColor(211, 54, 130));
    m_literal.setForeground(QColor(203, 75, 22));
    m_literal.setFontWeight(QFont::Bold);
    m_listMarker.setForeground(QColor(108, 113, 196));
    m_listMarker.setFontWeight(QFont::Bold);
}

// A small scanner rather than regexes: strings may contain anything, including quotes and colons.
void JsonHighlighter::highlightBlock(const QString& text)
{
    const qsizetype n = text.size();
    qsizetype i = 0;
    while (i < n) {
        const QChar c = text.at(i);
        if (c == QLatin1Char('"')) {
            qsizetype end = i + 1;
            while (end < n && text.at(end) != QLatin1Char('"'))
                end += text.at(end) == QLatin1Char('\\') ? 2 : 1;
            end = std::min(end + 1, n);
            qsizetype next = end;
            while (next < n && text.at(next).isSpace())
                ++next;
            const bool isKey = next < n && text.at(next) == QLatin1Char(':');
            const QStringView token = QStringView(text).mid(i, end - i);
            if (isKey && (token == u"\"@o\"" || token == u"\"@s\""))
                setFormat(int(i), int(end - i), m_listMarker);
            else
                setFormat(int(i), int(end - i), isKey ? m_key : m_string);
            i = end;
        } else if (c == QLatin1Char('-') || c.isDigit()) {
            qsizetype end = i + 1;
            while (end < n && (text.at(end).isDigit() || text.at(end) == QLatin1Char('.') || text.at(end) == QLatin1Char('e')
                       || text.at(end) == QLatin1Char('E') || text.at(end) == QLatin1Char('+') || text.at(end) == QLatin1Char('-')))
                ++end;
            setFormat(int(i), int(end - i), m_number);
            i = end;
        } else if (c.isLetter()) {
            qsizetype end = i + 1;
            while (end < n && text.at(end).isLetter())
                ++end;
            const QStringView word = QStringView(text).mid(i, end - i);
            if (word == u"true" || word == u"false" || word == u"null")
                setFormat(int(i), int(end - i), m_literal);
            i = end;
        } else {
            ++i;
        }
    }
}

}
