#pragma once

#include <QSyntaxHighlighter>
#include <QTextCharFormat>

namespace deltascope::ui {

// Colours JSON text: keys, strings, numbers, true/false/null, and the list markers @o / @s that
// carry a delta's list instructions. Colours are picked to read on light and dark palettes.
class JsonHighlighter : public QSyntaxHighlighter
{
    Q_OBJECT
public:
    explicit JsonHighlighter(QTextDocument* document);

protected:
    void highlightBlock(const QString& text) override;

private:
    QTextCharFormat m_key;
    QTextCharFormat m_string;
    QTextCharFormat m_number;
    QTextCharFormat m_literal;
    QTextCharFormat m_listMarker;
};

}
