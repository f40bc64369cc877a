#pragma once

#include <QSortFilterProxyModel>

namespace deltascope::ui {

// Keeps the rows of a DocumentTreeModel whose key or value contains the search text (case
// insensitive), with their ancestors so each match keeps its place in the tree.
class DocumentFilterProxy final : public QSortFilterProxyModel
{
    Q_OBJECT
public:
    explicit DocumentFilterProxy(QObject* parent = nullptr);
    void setSearchText(const QString& text);
    QString searchText() const { return m_text; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex& sourceParent) const override;

private:
    QString m_text;
};

}
